#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "io.h"
#include "plot.h"
#include "image.h"

int plot_have_gnuplot(void) {
    static int have = -1;
    if (have < 0) have = system("command -v gnuplot >/dev/null 2>&1") == 0;
    return have;
}

int plot_open(Plot *p, const char *dir, const char *name) {
    memset(p, 0, sizeof *p);
    if (strchr(dir, '\'') || strchr(name, '\'') || strlen(dir) >= sizeof p->dir || strlen(name) >= sizeof p->name) {
        fprintf(stderr, "error: figure '%s/%s': directory or name too long or contains a quote\n", dir, name);
        return 1;
    }
    strcpy(p->dir, dir);
    strcpy(p->name, name);
    p->width = 800;
    p->height = 600;
    snprintf(p->dat_path, sizeof p->dat_path, "%s/%s.dat", dir, name);
    p->dat = io_atomic_open(p->dat_path, p->dat_tmp, sizeof p->dat_tmp);
    if (!p->dat) return 1;
    p->gp = open_memstream(&p->script, &p->script_len);
    CHECK(p->gp != NULL, "open_memstream failed");
    fprintf(p->dat, "# %s.dat: data of figure %s (blocks separated by two blank lines; gnuplot 'index k')\n",
            name, name);
    return 0;
}

FILE *plot_dat(Plot *p) { return p->dat; }

void plot_block(Plot *p, const char *comment) {
    if (p->blocks > 0) fprintf(p->dat, "\n\n");
    fprintf(p->dat, "# index %d: %s\n", p->blocks, comment);
    p->blocks++;
}

void plot_points(Plot *p, const char *comment, const float *xy, int n) {
    plot_block(p, comment);
    for (int i = 0; i < n; i++) fprintf(p->dat, "%.5f %.5f\n", xy[2 * i], xy[2 * i + 1]);
}

void plot_cmd(Plot *p, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->gp, fmt, ap);
    va_end(ap);
    fputc('\n', p->gp);
}

void plot_size(Plot *p, int width, int height) {
    p->width = width;
    p->height = height;
}

void plot_abort(Plot *p) {
    if (p->dat) io_atomic_abort(p->dat, p->dat_tmp);
    if (p->gp) fclose(p->gp);
    free(p->script);
    memset(p, 0, sizeof *p);
}

/* The .gp: a header that makes it standalone, then the figure's own commands. */
static int write_script(Plot *p, const char *gp_path) {
    char tmp[760];
    FILE *f = io_atomic_open(gp_path, tmp, sizeof tmp);
    if (!f) return 1;
    fprintf(f, "# %s.gp: renders %s.png from %s.dat. Re-render with:  cd %s && gnuplot %s.gp\n",
            p->name, p->name, p->name, p->dir, p->name);
    fprintf(f, "if (!exists(\"outfile\")) outfile = '%s.png'\n", p->name);
    fprintf(f, "set terminal pngcairo size %d,%d enhanced font 'Sans,10'\n", p->width, p->height);
    fprintf(f, "set output outfile\n");
    fprintf(f, "dat = '%s.dat'\n", p->name);
    fwrite(p->script, 1, p->script_len, f);
    return io_atomic_commit(f, tmp, gp_path);
}

/* Copy a file to stderr (gnuplot's messages, shown only when it failed). */
static void show_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) fputs(line, stderr);
    fclose(f);
}

/* gnuplot writes NAME.png.tmp, which is renamed only when it succeeded. Its chatter (warnings, "62 frames in
 * animation sequence") goes to NAME.gp.err, printed only if gnuplot fails, then removed. */
static int render(Plot *p) {
    char cmd[1800], png[700], png_tmp[720], err[720];
    snprintf(png, sizeof png, "%s/%s.png", p->dir, p->name);
    snprintf(png_tmp, sizeof png_tmp, "%s/%s.png.tmp", p->dir, p->name);
    snprintf(err, sizeof err, "%s/%s.gp.err", p->dir, p->name);
    snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot -e \"outfile='%s.png.tmp'\" '%s.gp' 2>'%s.gp.err'", p->dir, p->name, p->name, p->name);
    int failed = system(cmd) != 0;
    if (failed) show_file(err);
    unlink(err);
    if (failed) {
        unlink(png_tmp);
        fprintf(stderr, "error: gnuplot failed on %s/%s.gp\n", p->dir, p->name);
        return 1;
    }
    if (rename(png_tmp, png) != 0) {
        perror(png);
        unlink(png_tmp);
        return 1;
    }
    return 0;
}

int plot_close(Plot *p) {
    char gp_path[700];
    fclose(p->gp);
    p->gp = NULL;
    snprintf(gp_path, sizeof gp_path, "%s/%s.gp", p->dir, p->name);
    int rc = io_atomic_commit(p->dat, p->dat_tmp, p->dat_path);
    p->dat = NULL;
    if (!rc) rc = write_script(p, gp_path);
    if (!rc && plot_have_gnuplot()) rc = render(p);
    else if (!rc) {
        static int hinted = 0;
        if (!hinted++) fprintf(stderr, "note: gnuplot not found; wrote .dat and .gp only. "
                                       "hint: apt-get install gnuplot-nox, then cd %s && gnuplot NAME.gp\n", p->dir);
    }
    if (!rc) cli_figure(p->dir, p->name);
    free(p->script);
    p->script = NULL;
    return rc;
}

/* Tics at the centres of the grid's cells: `set xtics (...)` or `set ytics (...)`, pixel coordinates. */
static void grid_tics(Plot *p, char axis, const char *const *labels, int count, int cell, int pad, int total, int flip) {
    char buf[4096];
    int len = snprintf(buf, sizeof buf, "set %ctics (", axis);
    for (int k = 0; k < count && len < (int)sizeof buf - 128; k++) {
        double c = pad + k * (cell + pad) + cell / 2.0;
        len += snprintf(buf + len, sizeof buf - len, "%s\"%s\" %g", k ? ", " : "", labels[k], flip ? total - c : c);
        fprintf(plot_dat(p), "%c %d %g %s\n", axis, k, flip ? total - c : c, labels[k]);
    }
    snprintf(buf + len, sizeof buf - len, ") scale 0 font ',9'");
    plot_cmd(p, "%s", buf);
}

int plot_image_grid(const char *dir, const char *name, const float *imgs, int n, int h, int w, int cols,
                    const PlotGridStyle *st) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s_pixels.png", dir, name);
    if (image_grid_png(path, imgs, n, 1, h, w, cols, st->lo, st->hi, st->scale, st->pad)) return 1;
    int rows = (n + cols - 1) / cols, cw = w * st->scale, ch = h * st->scale;
    int W = st->pad + cols * (cw + st->pad), H = st->pad + rows * (ch + st->pad);
    Plot p;
    if (plot_open(&p, dir, name)) return 1;
    plot_block(&p, "axis, index, centre in pixels of NAME_pixels.png (y from the bottom), label");
    plot_size(&p, st->width ? st->width : W + 160, st->height ? st->height : H + 110);
    if (st->title) plot_cmd(&p, "set title \"%s\"", st->title);
    plot_cmd(&p, "set size ratio -1; set xrange [0:%d]; set yrange [0:%d]; unset key; set border 0", W, H);
    if (st->col_labels) grid_tics(&p, 'x', st->col_labels, cols, cw, st->pad, W, 0);
    else plot_cmd(&p, "unset xtics");
    if (st->row_labels) grid_tics(&p, 'y', st->row_labels, rows, ch, st->pad, H, 1);
    else plot_cmd(&p, "unset ytics");
    if (st->xlabel) plot_cmd(&p, "set xlabel \"%s\"", st->xlabel);
    if (st->ylabel) plot_cmd(&p, "set ylabel \"%s\"", st->ylabel);
    plot_cmd(&p, "plot '%s_pixels.png' binary filetype=png with rgbimage", name);
    return plot_close(&p);
}
