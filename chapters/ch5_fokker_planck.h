/* ch5_fokker_planck.h: the functions of chapters/ch5_fokker_planck.c that tests/test_ch5.c checks.
 * Each one is an equation of PDF chapter 5 (Langevin and Fokker-Planck); tags are TUTORIAL.md's sections
 * (§5.1 Brownian motion, §5.2 master equation, §5.3 Kramers-Moyal, §5.4 Fokker-Planck, §5.5 back to
 * diffusion models).
 *
 * The Fokker-Planck grid: n cells of width h on [lo, lo + n h], cell i has centre x_i = lo + (i + 1/2) h
 * and holds the cell average p_i of the density, so the mass is sum_i p_i h. Outer faces carry no flux.
 */
#ifndef CH5_FOKKER_PLANCK_H
#define CH5_FOKKER_PLANCK_H

#include "cli.h"
#include "data.h"
#include "rng.h"

/* ---- §5.1 Brownian motion ---- */
/* n_paths paths of x_t = sqrt(2 D) w_t on t = k dt, k = 0..n_steps: x (n_paths, n_steps + 1), x[., 0] = 0. */
void   ch5_brownian_paths(Rng *rng, int n_paths, int n_steps, double dt, double D, double *x);

/* ---- §5.2 master equation of a lattice random walk ---- */
/* One step p_i(t + tau) = (1 - 2r) p_i + r p_{i-1} + r p_{i+1} on n sites; a jump off either end is refused. */
void   ch5_master_step(const double *p, double *p_next, int n, double r);
/* Start at x = 0, walk on dx Z with jump probability r each way, tau = r dx^2 / D, up to time t; returns
 * max_i |p_i / dx - N(x_i; 0, 2 D t)| (heat kernel) and writes the total probability to *mass if not NULL. */
double ch5_master_heat_error(double dx, double r, double D, double t, double *mass);

/* ---- §5.3 Kramers-Moyal coefficients from a time series ---- */
/* x[0..n-1] sampled every dt: for each of `bins` bins on [lo, hi) of the start point, M[k * bins + b] =
 * mean of (x[j+1] - x[j])^(k+1) / dt over the j whose x[j] lies in bin b (k = 0..3), xbar[b] = mean x[j],
 * count[b] = number of such j. */
void   ch5_km_moments(const double *x, long n, double dt, double lo, double hi, int bins,
                      double *xbar, double *M, long *count);
/* An Ornstein-Uhlenbeck series dx = -theta x dt + sqrt(2 D) dw sampled exactly every dt, from x[0] = x0. */
void   ch5_ou_series(Rng *rng, double theta, double D, double dt, double x0, double *x, long n);

/* ---- §5.4 Fokker-Planck on a grid ---- */
/* dx = mu(x, t) dt + sqrt(2 D(t)) dw: a drift, and a diffusion coefficient D = sigma^2 / 2 constant in x. */
typedef struct {
    double (*mu)(double x, double t, const void *par);
    double (*D)(double t, const void *par);
    const void *par;
} Ch5Sde;

/* Bernoulli function B(z) = z / (e^z - 1), B(0) = 1: the Scharfetter-Gummel weights. */
double ch5_bernoulli(double z);
/* The discrete FP operator: dpdt_i = -(F_{i+1/2} - F_{i-1/2}) / h with F = mu p - D dp/dx at each face. */
void   ch5_fp_rhs(const double *p, double *dpdt, int n, double lo, double h, const Ch5Sde *sde, double t);
/* Advance p from t0 to t1 in `steps` backward-Euler steps, each one tridiagonal solve.
 * Mass is conserved to round-off and p stays >= 0 for any dt. Allocates 6 n doubles of scratch. */
void   ch5_fp_solve(double *p, int n, double lo, double h, const Ch5Sde *sde, double t0, double t1, int steps);
/* Cell averages of N(m, v) on the grid (exact, through erf). */
void   ch5_gauss_cells(double *p, int n, double lo, double h, double m, double v);
/* OU test case: theta = 1, D = 1, p_0 = N(2, 0.5^2) on [-6, 6] with cell width h and h^2 / 4 time steps;
 * returns sum_i |p_i - exact cell average| h at t (the L1 error). */
double ch5_ou_grid_error(double h, double t);
/* §5.4 OU marginal from N(m0, v0): mean m0 e^{-theta t}, variance v0 e^{-2 theta t} + D / theta (1 - e^{-2 theta t}). */
void   ch5_ou_marginal(double m0, double v0, double theta, double D, double t, double *m, double *v);

/* ---- §5.4 Langevin in the double well U(x) = 2 (x^2 - 1)^2, dx = -U'(x) dt + sqrt(2) dw ---- */
double ch5_U(double x);
double ch5_langevin_mu(double x, double t, const void *par);   /* -U'(x) */
double ch5_unit_D(double t, const void *par);                   /* D = 1 */
/* max_i |(A p_inf)_i| for p_inf = e^{-U} / Z at the cell centres of [-3, 3] with width h: -> 0 as h -> 0. */
double ch5_stationary_residual(double h);
/* Euler-Maruyama for dx = -U'(x) dt + sqrt(2) dw, n particles, `steps` steps of dt (in place). */
void   ch5_langevin_particles(Rng *rng, double *x, int n, double dt, int steps);

/* ---- §5.5 the VP SDE of diffusion models ---- */
/* beta(t) = 0.1 + 19.9 t on [0, 1]; x_t = a(t) x0 + sqrt(1 - a^2) eps with a(t) = exp(-1/2 int_0^t beta). */
double ch5_vp_beta(double t);
double ch5_vp_a(double t);
/* L1 errors at time t of the grid solutions on [-5, 5] with width h and h^2 / 2 time steps, p_0 = the 1D
 * mixture g, against the exact law (the noised mixture): Fokker-Planck of the VP SDE (*err_fp) and the
 * continuity equation of the probability-flow ODE with the exact score (*err_ode). */
void   ch5_vp_grid_errors(const Gmm *g, double h, double t, double *err_fp, double *err_ode);

/* The program's cells (the table --list prints), n receives their number: tests/test_tutorial.c looks up
 * every `./ch5 --cell X` of tutorial.md in it with cli_find_cell. */
const Cell *ch5_cells(int *n);

#endif
