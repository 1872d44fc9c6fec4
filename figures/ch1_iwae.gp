# ch1_iwae.gp: renders ch1_iwae.png from ch1_iwae.dat. Re-render with:  cd figures && gnuplot ch1_iwae.gp
if (!exists("outfile")) outfile = 'ch1_iwae.png'
set terminal pngcairo size 1200,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_iwae.dat'
set multiplot layout 1,2 title 'An honest log-likelihood: importance-weighted log p(x) vs the ELBO (Fashion-MNIST test images)'
set title 'per image: IWAE_{1000} - ELBO, a lower bound on the gap KL(q || p(z|x))'; set xlabel 'ELBO (nats)'
set ylabel 'IWAE_{1000} - ELBO (nats)'; set logscale y; unset key
plot dat index 0 using 1:($2 - $1) with points pt 7 ps 0.8 lc rgb '#3182bd'
unset logscale y; set logscale x; set xrange [0.5:2000]; set xlabel 'K (importance samples)'; set ylabel 'mean IWAE_K - ELBO (nats)'
set title 'the bound tightens with K (mean over images, ±1 s.e.)'; unset key
plot dat index 1 using 1:2:3 with yerrorlines lw 2 pt 7 lc rgb '#d7301f'
unset multiplot
