# flow_likelihood_order.gp: renders flow_likelihood_order.png from flow_likelihood_order.dat. Re-render with:  cd figures && gnuplot flow_likelihood_order.gp
if (!exists("outfile")) outfile = 'flow_likelihood_order.png'
set terminal pngcairo size 800,550 enhanced font 'Sans,10'
set output outfile
dat = 'flow_likelihood_order.dat'
set title 'log p(x) through the ODE against the closed form: error against steps'
set logscale xy; set xlabel 'steps K'; set ylabel 'mean |log p_{ODE}(x) - log p(x)|'; set key bottom left; set format y '10^{%L}'
plot for [m=0:2] dat index m using 1:2 with linespoints lw 2 pt 7 title word('Euler Heun RK4', m+1), \
     [4:64] 0.0534999 * (64.0/x) with lines dt 2 lc rgb 'black' title 'slope -1', [4:64] 0.00131875 * (64.0/x)**2 with lines dt 3 lc rgb 'black' title 'slope -2', \
     [4:64] 2.05696e-06 * (64.0/x)**4 with lines dt 4 lc rgb 'black' title 'slope -4 (lines through K = 64)'
