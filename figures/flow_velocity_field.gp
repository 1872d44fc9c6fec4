# flow_velocity_field.gp: renders flow_velocity_field.png from flow_velocity_field.dat. Re-render with:  cd figures && gnuplot flow_velocity_field.gp
if (!exists("outfile")) outfile = 'flow_velocity_field.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'flow_velocity_field.dat'
set multiplot layout 1,3 title 'The exact velocity of the mixture, v = E[eps - x0 | x_t], drawn as -0.1 v (the way samples move as t decreases)'
set size ratio -1; set xrange [-2.1:2.1]; set yrange [-2.1:2.1]; unset key
set title 't = 0.90: x_t = 0.10 x0 + 0.90 eps'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', dat index 1 using 1:2:3:4 with vectors head filled size 0.04,20 lc rgb '#2171b5'
set title 't = 0.50: x_t = 0.50 x0 + 0.50 eps'
plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', dat index 3 using 1:2:3:4 with vectors head filled size 0.04,20 lc rgb '#2171b5'
set title 't = 0.15: x_t = 0.85 x0 + 0.15 eps'
plot dat index 4 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', dat index 5 using 1:2:3:4 with vectors head filled size 0.04,20 lc rgb '#2171b5'
unset multiplot
