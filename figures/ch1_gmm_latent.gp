# ch1_gmm_latent.gp: renders ch1_gmm_latent.png from ch1_gmm_latent.dat. Re-render with:  cd figures && gnuplot ch1_gmm_latent.gp
if (!exists("outfile")) outfile = 'ch1_gmm_latent.png'
set terminal pngcairo size 1500,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_gmm_latent.dat'
set multiplot layout 1,3 title 'Example 1.1: a Gaussian mixture with the component as the latent z'
set xlabel 'x'; set xrange [-4.5:4.5]; set key top left font ',9'
set title 'p(x) = sum_k w_k N(x; mu_k, s_k^2)'; set ylabel 'density'
plot dat using 1:2 with lines lw 3 lc rgb 'black' title 'p(x)', \
     for [k=1:3] dat using 1:(column(2+k)) with lines lw 2 dt 2 lc k title sprintf('w_%d N_%d(x)', k, k)
set title 'exact posterior p(z = k | x) = w_k N_k(x) / p(x)'; set ylabel 'probability'; set yrange [0:1.05]; set key left center
plot for [k=1:3] dat using 1:(column(5+k)) with lines lw 2 lc k title sprintf('p(z = %d | x)', k)
set title 'Theorem 1.1: log p(x) = ELBO(q) + KL(q || p(z|x))'; set ylabel 'nats'; set yrange [-9:0]; set key bottom center
plot dat using 1:9 with lines lw 4 lc rgb 'black' title 'log p(x) = ELBO(posterior)', \
     dat using 1:11 with lines lw 2 lc rgb '#3182bd' title 'ELBO(uniform q)', \
     dat using 1:12 with lines lw 2 lc rgb '#d7301f' title 'ELBO(hard q)', \
     dat every 12 using 1:13 with points pt 6 ps 1.0 lc rgb '#3182bd' title 'ELBO + KL (uniform)', \
     dat every 12 using 1:14 with points pt 4 ps 1.0 lc rgb '#d7301f' title 'ELBO + KL (hard)'
unset multiplot
