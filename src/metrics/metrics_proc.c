/* metrics_proc.c - process memory families (metrics/metrics.h). */
#include "metrics/metrics_int.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int read_statm(double *vsize, double *rss)
{
    char buf[256];
    unsigned long long size, resident;
    long page = sysconf(_SC_PAGESIZE);
    ssize_t n;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || page <= 0)
        return -1;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return -1;
    *vsize = (double)size * (double)page;
    *rss = (double)resident * (double)page;
    return 0;
}

int rag_metrics_rss_bytes(double *value, void *userdata)
{
    double vsize;
    (void)userdata;
    return read_statm(&vsize, value);
}

int rag_metrics_vsize_bytes(double *value, void *userdata)
{
    double rss;
    (void)userdata;
    return read_statm(value, &rss);
}


int rag_metrics_add_process(rag_metrics *m, rag_err *err)
{
    int rc;
    pthread_mutex_lock(&m->mu);
    rc = metrics_bind_locked(m, KIND_GAUGE, "process_resident_memory_bytes",
                     "Resident memory size in bytes.", NULL, NULL, 0, rag_metrics_rss_bytes,
                     NULL, err);
    if (rc == RAG_OK)
        rc = metrics_bind_locked(m, KIND_GAUGE, "process_virtual_memory_bytes",
                         "Virtual memory size in bytes.", NULL, NULL, 0,
                         rag_metrics_vsize_bytes, NULL, err);
    pthread_mutex_unlock(&m->mu);
    return rc;
}
