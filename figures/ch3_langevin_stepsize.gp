# ch3_langevin_stepsize.gp: renders ch3_langevin_stepsize.png from ch3_langevin_stepsize.dat. Re-render with:  cd figures && gnuplot ch3_langevin_stepsize.gp
if (!exists("outfile")) outfile = 'ch3_langevin_stepsize.png'
set terminal pngcairo size 1200,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_langevin_stepsize.dat'
set multiplot layout 1,2 title 'Langevin step size: bias of the stationary law vs speed of mixing'
set logscale x; set xrange [0.0015:0.55]; set xlabel 'step size tau'; set key outside below
set title 'p = N(0,1): stationary variance of the chain (± 1 s.e.)'; set ylabel 'variance'
plot dat using 1:2:4 with yerrorbars pt 7 ps 1 lw 1.5 title 'measured (20/tau steps averaged)', '' using 1:3 with lines lw 2 title '1/(1 - tau/2) (AR(1))', 1 with lines dt 2 lc 'black' title 'Var p = 1'
set title 'p = 1D mixture: KS distance to p (error bars: sd of the KS of 2000 exact draws)'; set ylabel 'KS distance'; set logscale y
ksm = 0.019272; kss = 0.00542502
plot '+' using 1:(ksm-kss):(ksm+kss) with filledcurves lc rgb '#dddddd' title 'KS of 2000 exact draws, mean ± sd', \
     dat using 1:5:(kss) with yerrorlines lw 2 pt 7 title 'after 100 steps (too small tau: not mixed)', \
     '' using 1:6:(kss) with yerrorlines lw 2 pt 5 title 'after 3000 steps (tau < 0.01: still not mixed; large tau: biased)'
unset multiplot
