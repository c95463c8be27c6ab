// header_cpp.cpp - include/docrag.h compiles and links from C++.
#include "docrag.h"

#include <cstdio>
#include <string>

int main()
{
    docrag_engine *e = nullptr;
    docrag_engine_opts o;
    docrag_error err{};
    docrag_engine_opts_init(&o);
    o.db_path = "/nonexistent-dir/x.db";
    o.quiet = 1;
    int rc = docrag_engine_open(&e, &o, &err);
    std::string msg(err.msg);
    std::printf("open: %d %s\n", rc, err.msg);
    docrag_engine_close(e);
    // Opening a database in a missing folder fails and names it.
    return (rc < 0 && e == nullptr && msg.find("/nonexistent-dir/x.db") != std::string::npos) ? 0 : 1;
}
