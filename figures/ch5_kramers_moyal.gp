# ch5_kramers_moyal.gp: renders ch5_kramers_moyal.png from ch5_kramers_moyal.dat. Re-render with:  cd figures && gnuplot ch5_kramers_moyal.gp
if (!exists("outfile")) outfile = 'ch5_kramers_moyal.png'
set terminal pngcairo size 1500,450 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_kramers_moyal.dat'
set multiplot layout 1,3 title 'Kramers-Moyal coefficients from increments of a Langevin path in U = 2(x^2-1)^2'
set xlabel 'x'; set key top right; set xrange [-1.6:1.6]
set title 'M_1(x) = E[dx | x]/dt vs the drift -U''(x)'; set ylabel 'M_1'
plot for [l=0:2] dat index l using 1:2 with points pt 7 ps 0.9 title sprintf('lag %g', 0.001*4**l), \
     -8*x*(x*x-1) with lines lw 2 lc rgb 'black' title '-U''(x)'
set title 'M_2(x) = E[dx^2 | x]/dt vs sigma^2 = 2'; set ylabel 'M_2'; set yrange [1.5:3]; set key top center
plot for [l=0:2] dat index l using 1:3 with linespoints pt 7 ps 0.9 title sprintf('lag %g', 0.001*4**l), \
     2 with lines lw 2 lc rgb 'black' title 'sigma^2 = 2'
set title 'higher coefficients vanish like dt'; set logscale xy; set xrange [*:*]; set yrange [*:*]
set xlabel 'lag dt'; set ylabel 'mean over x'; set key top left; set format y '10^{%L}'
plot dat index 3 using 1:3 with linespoints pt 7 lw 2 title 'M_4', '' index 3 using 1:2 with linespoints pt 5 lw 2 title '|M_3|', \
     12*x with lines dt 2 lc rgb 'black' title '3 sigma^4 dt (slope 1)'
unset multiplot
