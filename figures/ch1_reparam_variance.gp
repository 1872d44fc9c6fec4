# ch1_reparam_variance.gp: renders ch1_reparam_variance.png from ch1_reparam_variance.dat. Re-render with:  cd figures && gnuplot ch1_reparam_variance.gp
if (!exists("outfile")) outfile = 'ch1_reparam_variance.png'
set terminal pngcairo size 800,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_reparam_variance.dat'
set title 'Gradient of E_q[f(z)], f = sin z + z^2/2, q = N(0.5, 1): estimator variance vs sample count'
set logscale xy; set format y '10^{%L}'; set xlabel 'samples N per estimate'; set ylabel 'variance of the estimate'
set key top right; set xrange [0.7:1500]
plot dat using 1:3 with linespoints lw 2 pt 7 lc rgb '#d7301f' title 'score function, d/dμ', \
     dat using 1:5 with linespoints lw 2 pt 5 dt 2 lc rgb '#d7301f' title 'score function, d/dσ', \
     dat using 1:2 with linespoints lw 2 pt 7 lc rgb '#3182bd' title 'reparameterisation, d/dμ', \
     dat using 1:4 with linespoints lw 2 pt 5 dt 2 lc rgb '#3182bd' title 'reparameterisation, d/dσ', \
     dat using 1:6 with lines lw 1 lc rgb 'black' title "exact Var f'(z) / N"
