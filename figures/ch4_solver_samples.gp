# ch4_solver_samples.gp: renders ch4_solver_samples.png from ch4_solver_samples.dat. Re-render with:  cd figures && gnuplot ch4_solver_samples.gp
if (!exists("outfile")) outfile = 'ch4_solver_samples.png'
set terminal pngcairo size 1500,330 enhanced font 'Sans,10'
set output outfile
dat = 'ch4_solver_samples.dat'
set multiplot layout 1,5 title 'Samples with the exact score after 20 steps of each solver (VP SDE, t: 1 -> 0.001)'
set size ratio -1; set xrange [-1.6:1.6]; set yrange [-1.6:1.6]; unset key; set xtics 1 font ',9'; set ytics 1 font ',9'
array NM[5] = ['Euler-Maruyama', 'predictor-corrector', 'PF-ODE Euler', 'PF-ODE Heun', 'data']
set title NM[1]; plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title NM[2]; plot dat index 1 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title NM[3]; plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title NM[4]; plot dat index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#d7301f'
set title NM[5]; plot dat index 4 using 1:2 with points pt 7 ps 0.2 lc rgb '#636363'
unset multiplot
