# ch4_convergence_orders.gp: renders ch4_convergence_orders.png from ch4_convergence_orders.dat. Re-render with:  cd figures && gnuplot ch4_convergence_orders.gp
if (!exists("outfile")) outfile = 'ch4_convergence_orders.png'
set terminal pngcairo size 1300,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_convergence_orders.dat'
set multiplot layout 1,2 title 'Convergence orders: error vs step size h (log-log), with reference slopes'
set logscale xy; set xlabel 'step size h'; set ylabel 'error'; set key top left font ',9'; set grid; set format y '10^{%L}'
set title 'Euler-Maruyama: OU dx = -2x dt + dw, GBM dx = x/2 dt + x dw'; set xrange [0.003:0.3]
plot dat index 0 using 1:2:3 with yerrorlines pt 7 lw 2 title 'strong E|x_N - x(1)|, OU', \
     dat index 0 using 1:4:5 with yerrorlines pt 5 lw 2 title 'strong, GBM', \
     dat index 0 using 1:6 with linespoints pt 9 lw 2 title 'weak |E x_N^2 - E x(1)^2|, OU', \
     1.15788 * sqrt(x) with lines dt 2 lc rgb 'black' title 'slope 1/2', 0.249219 * x with lines dt 3 lc rgb 'black' title 'slope 1'
set xrange [0.0007:0.08]
set title 'Probability-flow ODE, 2D mixture, exact score (median |x_N - x_{ref}|, ref = 4096 RK4 steps)'
plot dat index 1 using 1:2 with linespoints pt 7 lw 2 title 'Euler', dat index 1 using 1:3 with linespoints pt 5 lw 2 title 'Heun', \
     dat index 1 using 1:4 with linespoints pt 9 lw 2 title 'RK4', \
     0.259414 * x with lines dt 3 lc rgb 'black' title 'slope 1', 4.04435 * x**2 with lines dt 2 lc rgb 'black' title 'slope 2', \
     28.1717 * x**4 with lines dt 4 lc rgb 'black' title 'slope 4'
unset multiplot
