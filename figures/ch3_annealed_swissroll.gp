# ch3_annealed_swissroll.gp: renders ch3_annealed_swissroll.png from ch3_annealed_swissroll.dat. Re-render with:  cd figures && gnuplot ch3_annealed_swissroll.gp
if (!exists("outfile")) outfile = 'ch3_annealed_swissroll.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_annealed_swissroll.dat'
set multiplot layout 1,3 title 'NCSN on the swiss roll: one learned s_{θ}(x, σ), two samplers from the same uniform start'
set size ratio -1; set xrange [-1.4:1.4]; set yrange [-1.4:1.4]; unset key
set title 'data (2000 of 20000 training points)'
plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#636363'
set title 'annealed Langevin, 10 levels: distance to the roll 0.010, sliced W1 0.035'
plot dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f'
set title 'plain Langevin at σ_{min}: 0.012, sliced W1 0.149 (floor 0.018)'
plot dat index 2 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5'
unset multiplot
