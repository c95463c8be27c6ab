/* cli_args.c - one option parser for every subcommand (cli.h): options
 * before and after positional arguments, "--opt=value", "--" ends the
 * options, -h/--help, errors that name the flag, strict integers. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_args_init(cli_args *a, const cli_help *h, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->help = h;
    a->argc = argc;
    a->argv = argv;
    a->i = 1;
}

int cli_args_exit(int code)
{
    return code == CLI_ARGS_HELP ? 0 : 2;
}

static void print_lines(FILE *f, const char *indent, const char *text)
{
    while (text && *text) {
        size_t n = strcspn(text, "\n");
        fprintf(f, "%s%.*s\n", indent, (int)n, text);
        text += n + (text[n] == '\n');
    }
}

void cli_help_print(const cli_help *h, FILE *f)
{
    fprintf(f, "usage: ");
    print_lines(f, "", h->usage);
    if (h->about) {
        fputc('\n', f);
        print_lines(f, "", h->about);
    }
    if (h->opts && h->opts[0].name) {
        fprintf(f, "\noptions:\n");
        for (const cli_opt *o = h->opts; o->name; o++) {
            char left[64];
            int n = snprintf(left, sizeof left, "%s%s%s%s%s", o->name, o->alias ? ", " : "",
                             o->alias ? o->alias : "", o->value ? " " : "",
                             o->value ? o->value : "");
            const char *help = o->help ? o->help : "";
            size_t first = strcspn(help, "\n");
            fprintf(f, "  %-17s%s%.*s\n", left, n >= 17 ? "\n                   " : "  ",
                    (int)first, help);
            if (help[first])
                print_lines(f, "                   ", help + first + 1);
        }
    }
    if (h->common) {
        fprintf(f, "\ncommon options (also before the command: docrag -q --db F %s ...):\n",
                h->name);
        fputs(cli_common_help, f);
    } else {
        fprintf(f, "  -h, --help         this help\n");
    }
    if (h->example) {
        fprintf(f, "\nexample%s:\n", strchr(h->example, '\n') ? "s" : "");
        print_lines(f, "  ", h->example);
    }
}

int cli_bad(const cli_help *h, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "docrag: ");
    if (h && h->name)
        fprintf(stderr, "%s: ", h->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (h && h->usage) {
        fprintf(stderr, "usage: ");
        print_lines(stderr, "", h->usage);
        fprintf(stderr, "Try 'docrag %s --help' for the options.\n", h->name);
    }
    return 2;
}

int cli_parse_int(const cli_help *h, const char *flag, const char *text, long lo, long hi,
                  int *out)
{
    char nb[CLI_NAME_BYTES];
    const char *p = text;
    char *end = NULL;
    long v;

    if (*p == '-')
        p++;
    if (*p >= '0' && *p <= '9') {
        errno = 0;
        v = strtol(text, &end, 10);
        if (errno == 0 && *end == '\0' && v >= lo && v <= hi) {
            *out = (int)v;
            return 0;
        }
    }
    if (h)
        return cli_bad(h, "%s '%s': expected an integer from %ld to %ld", flag,
                       cli_name(nb, text), lo, hi);
    fprintf(stderr, "docrag: %s '%s': expected an integer from %ld to %ld\n", flag,
            cli_name(nb, text), lo, hi);
    return 2;
}

int cli_args_int(cli_args *a, long lo, long hi, int *out)
{
    return cli_parse_int(a->help, a->opt, a->value, lo, hi, out);
}

int cli_args_next(cli_args *a)
{
    const char *arg, *eq;
    size_t n_name;
    char nb[CLI_NAME_BYTES];

    a->opt = NULL;
    a->value = NULL;
    if (a->i >= a->argc)
        return CLI_ARGS_END;
    arg = a->argv[a->i++];
    if (a->only_pos || arg[0] != '-' || arg[1] == '\0') {
        a->value = arg;
        return CLI_ARGS_POS;
    }
    if (!strcmp(arg, "--")) {
        a->only_pos = 1;
        return cli_args_next(a);
    }
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
        cli_help_print(a->help, stdout);
        return fflush(stdout) == 0 ? CLI_ARGS_HELP : CLI_ARGS_BAD;
    }
    eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
    n_name = eq ? (size_t)(eq - arg) : strlen(arg);
    for (int k = 0; a->help->opts && a->help->opts[k].name; k++) {
        const cli_opt *o = &a->help->opts[k];
        int match = (strlen(o->name) == n_name && !strncmp(arg, o->name, n_name)) ||
                    (o->alias && strlen(o->alias) == n_name && !strncmp(arg, o->alias, n_name));
        if (!match)
            continue;
        snprintf(a->opt_buf, sizeof a->opt_buf, "%.*s", (int)n_name, arg);
        a->opt = a->opt_buf;
        if (!o->value) {
            if (eq) {
                cli_bad(a->help, "%s takes no value", a->opt);
                return CLI_ARGS_BAD;
            }
            return k;
        }
        if (eq)
            a->value = eq + 1;
        else if (a->i < a->argc)
            a->value = a->argv[a->i++];
        else {
            cli_bad(a->help, "%s needs a value (%s)", a->opt, o->value);
            return CLI_ARGS_BAD;
        }
        return k;
    }
    cli_bad(a->help, "unknown option '%s' (a query starting with '-' goes after '--')",
            cli_name(nb, arg));
    return CLI_ARGS_BAD;
}

int cli_text_arg(char **out, const cli_help *h, char **pos, int n_pos)
{
    const char *what = !strcmp(h->name, "ask") ? "question" : "query";
    char *s;
    size_t n = 0, cap = 4096;

    *out = NULL;
    if (n_pos == 0)
        return cli_bad(h, "no %s given", what);
    if (n_pos > 1 || strcmp(pos[0], "-")) {
        if (!(*out = cli_join_args(n_pos, pos, 0))) {
            fprintf(stderr, "docrag: out of memory\n");
            return 1;
        }
        return 0;
    }
    if (!(s = malloc(cap))) {
        fprintf(stderr, "docrag: out of memory\n");
        return 1;
    }
    for (size_t got; (got = fread(s + n, 1, cap - n - 1, stdin)) > 0;) {
        n += got;
        if (n > CLI_STDIN_MAX) {
            free(s);
            fprintf(stderr, "docrag: %s: the %s on stdin is over %d bytes\n", h->name, what,
                    CLI_STDIN_MAX);
            return 1;
        }
        if (n + 1 == cap) {
            char *p = realloc(s, cap * 2);
            if (!p) {
                free(s);
                fprintf(stderr, "docrag: out of memory\n");
                return 1;
            }
            s = p;
            cap *= 2;
        }
    }
    if (ferror(stdin)) {
        free(s);
        fprintf(stderr, "docrag: %s: cannot read stdin\n", h->name);
        return 1;
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    s[n] = '\0';
    if (n == 0) {
        free(s);
        return cli_bad(h, "stdin ('-') held no %s", what);
    }
    *out = s;
    return 0;
}
