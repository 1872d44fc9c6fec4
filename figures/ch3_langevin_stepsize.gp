# ch3_langevin_stepsize.gp: renders ch3_langevin_stepsize.png from ch3_langevin_stepsize.dat. Re-render with:  cd figures && gnuplot ch3_langevin_stepsize.gp
if (!exists("outfile")) outfile = 'ch3_langevin_stepsize.png'
set terminal pngcairo size 1100,420 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_langevin_stepsize.dat'
set multiplot layout 1,2 title 'Langevin step size: bias of the stationary law vs speed of mixing'
set logscale x; set xlabel 'step size tau'; set key top left
set title 'p = N(0,1): stationary variance of the chain'; set ylabel 'variance'
plot dat using 1:2 with points pt 7 ps 1.2 title 'measured', '' using 1:3 with lines lw 2 title '1/(1 - tau/2) (AR(1))', 1 with lines dt 2 lc 'black' title 'Var p = 1'
set title 'p = 1D mixture: KS distance to p'; set ylabel 'KS distance'; set logscale y; set key top right
plot dat using 1:4 with linespoints lw 2 pt 7 title 'after 100 steps (too small tau: not mixed)', '' using 1:5 with linespoints lw 2 pt 5 title 'after 3000 steps (large tau: biased)', 0.0194538 with lines dt 2 lc 'black' title 'KS of 2000 exact draws (typ.)'
unset multiplot
