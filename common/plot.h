/* plot.h: figures through gnuplot, written as three files side by side.
 *
 *   Plot p;
 *   if (plot_open(&p, "figures", "ch3_score_field")) return 1;   // starts NAME.dat and NAME.gp
 *   plot_block(&p, "density");                 // a data block, gnuplot 'index 0'
 *   fprintf(plot_dat(&p), "%g %g %g\n", x, y, z);
 *   plot_block(&p, "arrows");                  // 'index 1'
 *   ...
 *   plot_size(&p, 900, 450);
 *   plot_cmd(&p, "plot dat index 0 with image, dat index 1 with vectors");
 *   return plot_close(&p);                     // writes .dat and .gp, runs gnuplot -> .png
 *
 * The .gp script is standalone and readable: `cd figures && gnuplot NAME.gp`
 * re-renders NAME.png, so a student can restyle a figure without rerunning
 * the program. In the script, `dat` is the data file's name and blocks are
 * addressed with `index k` in the order plot_block() opened them.
 *
 * Every file is written atomically (temporary, then rename), so an
 * interrupted run never leaves a half-written figure. If gnuplot is not
 * installed, plot_close still writes .dat and .gp, prints a one-line hint
 * once, and returns 0: a missing renderer is not a failure.
 * Errors (directory not writable, gnuplot failing on the script) return
 * nonzero after a message naming the file.
 */
#ifndef PLOT_H
#define PLOT_H

#include <stdio.h>
#include "base.h"

typedef struct {
    char  dir[512], name[128];
    char  dat_path[700], dat_tmp[720];
    FILE *dat;                /* the .dat, written directly (through a temporary) */
    char *script;             /* the body of the .gp, from open_memstream */
    size_t script_len;
    FILE *gp;
    int   width, height;      /* PNG size in pixels, default 800 x 600 */
    int   blocks;
} Plot;

int   plot_open(Plot *p, const char *dir, const char *name) MUST_USE;
FILE *plot_dat(Plot *p);                                  /* the data stream */
void  plot_block(Plot *p, const char *comment);           /* start data block `index k` */
void  plot_points(Plot *p, const char *comment, const float *xy, int n);   /* a block of n 2D points (n, 2): "x y" lines */
void  plot_cmd(Plot *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void  plot_size(Plot *p, int width, int height);
int   plot_close(Plot *p) MUST_USE;                       /* write, render, announce */
void  plot_abort(Plot *p);                                /* discard everything */
/* ---- labelled image grids ----
 * Image grids (samples, strips) are pixels, written by image_grid_png; to give them axes and labels the pixels go to
 * NAME_pixels.png and gnuplot draws that file with a label under each column and beside each row (NAME.png), so
 * that a strip says which t each frame is and a grid says which z each tile decodes. Without gnuplot, NAME_pixels.png
 * is still written. Labels may be NULL; label strings must not contain a double quote. */
typedef struct {
    const char *title, *xlabel, *ylabel;
    const char *const *col_labels;   /* cols strings under the columns, or NULL */
    const char *const *row_labels;   /* rows strings left of the rows, or NULL */
    float lo, hi;                    /* value range mapped to black .. white */
    int scale, pad;                  /* pixel size and grey gap, as image_grid_png */
    int width, height;               /* PNG size of NAME.png in pixels (0: from the grid) */
} PlotGridStyle;
/* imgs (n, 1, h, w) as a grid of `cols` columns: NAME_pixels.png plus the labelled NAME.png/.gp/.dat. */
int   plot_image_grid(const char *dir, const char *name, const float *imgs, int n, int h, int w, int cols,
                      const PlotGridStyle *st) MUST_USE;

/* 1 if gnuplot can be run (looked up once). */
int   plot_have_gnuplot(void);

#endif
