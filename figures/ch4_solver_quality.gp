# ch4_solver_quality.gp: renders ch4_solver_quality.png from ch4_solver_quality.dat. Re-render with:  cd figures && gnuplot ch4_solver_quality.gp
if (!exists("outfile")) outfile = 'ch4_solver_quality.png'
set terminal pngcairo size 1300,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_solver_quality.dat'
set multiplot layout 1,2 title 'Sample quality vs number of score evaluations (VP SDE, 2D mixture; 4000 samples exact, 500 with the model)'
set logscale xy; set xlabel 'score evaluations (NFE)'; set ylabel 'sliced W1 to the data'; set grid; set key top right font ',9'
array NM[4] = ['Euler-Maruyama', 'predictor-corrector', 'PF-ODE Euler', 'PF-ODE Heun']
set yrange [0.005:1]; set xrange [8:1200]
set title 'exact mixture score'
plot for [s=0:3] dat index s+0 using 2:3 with linespoints pt 7 lw 2 title NM[s+1], 0.0135135 with lines dt 2 lc rgb 'black' title 'noise floor (exact sampler, mean of 10)'
set title 'trained eps-network (toymodel), nearest discrete step'
plot for [s=0:3] dat index s+4 using 2:3 with linespoints pt 7 lw 2 title NM[s+1], 0.0364829 with lines dt 2 lc rgb 'black' title 'noise floor (exact sampler, mean of 10)'
unset multiplot
