# ch4_gd_vs_ode.gp: renders ch4_gd_vs_ode.png from ch4_gd_vs_ode.dat. Re-render with:  cd figures && gnuplot ch4_gd_vs_ode.gp
if (!exists("outfile")) outfile = 'ch4_gd_vs_ode.png'
set terminal pngcairo size 1200,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_gd_vs_ode.dat'
set multiplot layout 1,2 title 'Gradient descent is Euler on dx/dt = -grad f; Langevin is Euler-Maruyama on dx = -grad f dt + sqrt(2) dw'
set size ratio -1; set xrange [-2.6:2.6]; set yrange [-1.6:1.6]; set xlabel 'x'; set ylabel 'y'
set key bottom right font ',9' opaque
set title 'f(x) = (x^2 + 5 y^2)/2: iterates vs the ODE path'
plot dat index 0 with lines lc rgb '#bdbdbd' notitle, \
     dat index 1 with lines lw 3 lc rgb '#000000' title 'ODE x(t)', \
     dat index 2 with linespoints pt 7 ps 0.6 lc rgb '#3182bd' title 'GD, tau = 0.05', \
     dat index 3 with linespoints pt 7 ps 0.8 lc rgb '#d7301f' title 'GD, tau = 0.35 (zig-zag)'
set title 'Langevin, tau = 0.01: 3 paths and 1000 chain ends, law exp(-f)/Z'
plot dat index 0 with lines lc rgb '#bdbdbd' notitle, \
     dat index 7 with points pt 7 ps 0.3 lc rgb '#9ecae1' title 'chain ends', \
     for [k=4:6] dat index k with lines lw 1 lc k-2 title (k == 4 ? 'paths' : '')
unset multiplot
