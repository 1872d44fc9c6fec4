# ch4_solver_quality.gp: renders ch4_solver_quality.png from ch4_solver_quality.dat. Re-render with:  cd figures && gnuplot ch4_solver_quality.gp
if (!exists("outfile")) outfile = 'ch4_solver_quality.png'
set terminal pngcairo size 1300,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_solver_quality.dat'
set multiplot layout 1,2 title 'Sample quality vs number of score evaluations (VP SDE, 2D mixture): mean ± s.e. over (x_1, reference) pairs'
set logscale xy; set xlabel 'score evaluations (NFE)'; set ylabel 'sliced W1 to the data'; set grid; set key top right font ',9'
array NM[4] = ['Euler-Maruyama', 'predictor-corrector', 'PF-ODE Euler', 'PF-ODE Heun']
set yrange [0.005:1]; set xrange [8:1200]
set title 'exact mixture score, n = 4000, 10 pairs'
fl = 0.0133528; fsd = 0.00384708
plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (100 pairs)', \
     fl with lines dt 2 lc rgb 'black' notitle, \
     for [s=0:3] dat index s+0 using 2:3:4 with yerrorlines pt 7 ps 0.7 lw 2 title NM[s+1]
set title 'trained eps-network (toymodel), nearest discrete step, n = 500, 6 pairs'
fl = 0.0370827; fsd = 0.0109088
plot '+' using 1:(fl-fsd):(fl+fsd) with filledcurves lc rgb '#dddddd' title 'noise floor ± sd of one pair (100 pairs)', \
     fl with lines dt 2 lc rgb 'black' notitle, \
     for [s=0:3] dat index s+4 using 2:3:4 with yerrorlines pt 7 ps 0.7 lw 2 title NM[s+1]
unset multiplot
