# flow_nfe.gp: renders flow_nfe.png from flow_nfe.dat. Re-render with:  cd figures && gnuplot flow_nfe.gp
if (!exists("outfile")) outfile = 'flow_nfe.png'
set terminal pngcairo size 1000,600 enhanced font 'Sans,10'
set output outfile
dat = 'flow_nfe.dat'
set title 'Flow ODE (Euler, Heun, RK4) and DDIM: distance to the data law against network evaluations'
set logscale xy; set xlabel 'network evaluations'; set ylabel 'sliced W1 to the mixture (mean of 10 / 3 draws)'
set key outside right; set xrange [3:80]
plot for [k=0:3] dat index k using 1:2:3 with yerrorlines lw 2 pt 7 lc k+1 title word('Euler Heun RK4 DDIM', k+1).' (exact)', \
     for [k=0:3] dat index 4+k using 1:2:3 with yerrorlines lw 2 dt 2 pt 6 lc k+1 title word('Euler Heun RK4 DDIM', k+1).' (trained)', \
     0.0309905 with lines lc rgb 'black' dt 3 title 'floor (true vs true)'
