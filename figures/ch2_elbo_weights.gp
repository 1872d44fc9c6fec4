# ch2_elbo_weights.gp: renders ch2_elbo_weights.png from ch2_elbo_weights.dat. Re-render with:  cd figures && gnuplot ch2_elbo_weights.gp
if (!exists("outfile")) outfile = 'ch2_elbo_weights.png'
set terminal pngcairo size 800,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch2_elbo_weights.dat'
set title 'Weights of the ELBO terms (linear schedule, T = 1000)'
set logscale y; set format y '10^{%L}'; set xlabel 't'; set ylabel 'weight'; set key top right
plot dat using 1:2 with lines lw 2 title 'on ||x0hat - x0||^2 (x0 form)', \
     dat using 1:3 with lines lw 2 title 'on ||epshat - eps||^2 (noise form)', \
     dat using 1:4 with lines dt 2 lw 1 title 'SNR(t) = abar/(1 - abar)'
