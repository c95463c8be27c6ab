// header_cpp.cpp - include/docrag.h compiles and links from C++.
#include "docrag.h"

#include <cstdio>
#include <string>

int main()
{
    docrag *d = nullptr;
    docrag_error err{};
    int rc = docrag_open(&d, "/nonexistent-dir/x.db", nullptr, &err);
    std::string msg(err.msg);
    std::printf("open: %d %s\n", rc, err.msg);
    docrag_close(d);
    // Opening a database in a missing folder fails and names it.
    return (rc < 0 && d == nullptr && msg.find("/nonexistent-dir/x.db") != std::string::npos) ? 0 : 1;
}
