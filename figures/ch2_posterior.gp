# ch2_posterior.gp: renders ch2_posterior.png from ch2_posterior.dat. Re-render with:  cd figures && gnuplot ch2_posterior.gp
if (!exists("outfile")) outfile = 'ch2_posterior.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_posterior.dat'
set title 'q(x_{t-1} | x_t, x_0) by simulation (bars) and the closed form (line), t = 100, x_0 = 1.0, x_t = 0.5'
set xlabel 'x_{t-1}'; set ylabel 'density'; set style fill solid 0.4 noborder
plot dat using 1:2 with boxes lc rgb '#6baed6' title 'simulated, x_t in bin', '' using 1:3 with lines lw 2 lc rgb '#d7301f' title 'N(mu_q, sigma_q^2)'
