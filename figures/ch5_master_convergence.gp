# ch5_master_convergence.gp: renders ch5_master_convergence.png from ch5_master_convergence.dat. Re-render with:  cd figures && gnuplot ch5_master_convergence.gp
if (!exists("outfile")) outfile = 'ch5_master_convergence.png'
set terminal pngcairo size 1200,480 enhanced font 'Sans,10'
set output outfile
dat = 'ch5_master_convergence.dat'
set multiplot layout 1,2 title 'Master equation of a lattice random walk -> heat equation (D = 0.5, t = 1)'
set title 'dx = 0.2, r = 1/4'; set xlabel 'x'; set ylabel 'density'; set key top right
plot dat index 0 using 1:3 with impulses lw 6 lc rgb '#9ecae1' title '20000 walkers', \
     '' index 0 using 1:2 with points pt 7 ps 1.2 lc rgb '#d7301f' title 'master equation p_i/dx', \
     '' index 0 using 1:4 with lines lw 2 lc rgb 'black' title 'heat kernel N(0, 2Dt)'
set title 'max error vs dx'; set logscale xy; set xlabel 'dx'; set ylabel 'max_i |p_i/dx - N(x_i; 0, 2Dt)|'; set key bottom right
set format y '10^{%L}'; set xrange [0.01:0.25]
plot dat index 1 using 1:2 with linespoints pt 7 lw 2 title 'r = 1/4 (kurtosis -1)', \
     '' index 1 using 1:3 with linespoints pt 5 lw 2 title 'r = 1/6 (kurtosis 0)', \
     0.000996093*(x/0.2)**2 with lines dt 2 lc rgb 'gray40' title 'slope 2', 9.09573e-06*(x/0.2)**4 with lines dt 3 lc rgb 'gray40' title 'slope 4'
unset multiplot
