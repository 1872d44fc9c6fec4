/* schedule.h: noise schedules in the tutorial's notation (§2.1-§2.3).
 *
 *   Schedule s;
 *   sched_init(&s, SCHED_LINEAR, 1000);        beta from 1e-4 to 0.02, as in DDPM
 *   double ab = s.alpha_bar[t];                 t = 1..T; alpha_bar[0] = 1 is clean data
 *   xt = sqrt(ab) * x0 + sqrt(1 - ab) * eps;    §2.3
 *   sched_free(&s);
 *
 * Arrays are indexed by t = 0..T (length T + 1) so code reads like the
 * equations: beta[t] = 1 - alpha[t], alpha_bar[t] = prod_{i<=t} alpha[i],
 * with beta[0] = 0 and alpha[0] = alpha_bar[0] = 1. Values are double: the
 * products of 1000 factors and the differences 1 - alpha_bar near t = 0 lose
 * too much in float. sched_init allocates; sched_free releases.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

typedef enum { SCHED_LINEAR, SCHED_COSINE } SchedKind;

typedef struct {
    SchedKind kind;
    int     T;
    double *beta;        /* (T+1) beta[t] = 1 - alpha[t] */
    double *alpha;       /* (T+1) per-step signal factor */
    double *alpha_bar;   /* (T+1) cumulative product */
} Schedule;

/* SCHED_LINEAR: beta linear from 1e-4 to 0.02 over T = 1000 steps (Ho et al.), rescaled by 1000/T
 * for other T so that alpha_bar[T] stays near 0. SCHED_COSINE: Nichol and Dhariwal's
 * alpha_bar(t) = f(t)/f(0), f(t) = cos^2(pi/2 (t/T + s)/(1 + s)), s = 0.008, beta clipped at 0.999. */
void   sched_init(Schedule *s, SchedKind kind, int T);
/* Linear beta from beta_1 to beta_T. */
void   sched_init_linear(Schedule *s, int T, double beta_1, double beta_T);
void   sched_free(Schedule *s);
/* §2.6 posterior variance sigma_q^2(t) = (1 - alpha[t]) (1 - alpha_bar[t-1]) / (1 - alpha_bar[t]), t >= 1. */
double sched_posterior_var(const Schedule *s, int t);
/* Noise-level view (DDIM, §3): sigma(t) = sqrt((1 - alpha_bar[t]) / alpha_bar[t]), so x/sqrt(alpha_bar) = x0 + sigma eps. */
double sched_sigma(const Schedule *s, int t);

#endif
