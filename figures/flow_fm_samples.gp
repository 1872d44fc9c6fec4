# flow_fm_samples.gp: renders flow_fm_samples.png from flow_fm_samples.dat. Re-render with:  cd figures && gnuplot flow_fm_samples.gp
if (!exists("outfile")) outfile = 'flow_fm_samples.png'
set terminal pngcairo size 1500,500 enhanced font 'Sans,10'
set output outfile
dat = 'flow_fm_samples.dat'
set multiplot layout 1,3 title 'Conditional flow matching: samples by integrating the learned velocity from t = 1 to 0'
set size ratio -1; set key bottom right font ',9'
set title 'swiss roll'; set xrange [-1.2:1.2]; set yrange [-1.2:1.2]
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index 1 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f' title 'flow samples'
set title 'mixture'; set xrange [-1.8:1.8]; set yrange [-1.8:1.8]
plot dat index 2 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index 3 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5' title 'flow samples'
set size noratio; set title 'training loss per coordinate (conditional FM; its floor is C/2 > 0)'; set autoscale; set xlabel 'step'; set key top right
plot dat index 4 using 1:2 with lines lw 2 lc rgb '#d7301f' title 'swiss roll', dat index 4 using 1:3 with lines lw 2 lc rgb '#2171b5' title 'mixture'
unset multiplot
