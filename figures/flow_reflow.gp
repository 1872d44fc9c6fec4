# flow_reflow.gp: renders flow_reflow.png from flow_reflow.dat. Re-render with:  cd figures && gnuplot flow_reflow.gp
if (!exists("outfile")) outfile = 'flow_reflow.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'flow_reflow.dat'
set multiplot layout 1,3 title 'Reflow: retraining on the model''s own (noise, sample) pairs straightens the paths'
set size ratio -1; set xrange [-3:3]; set yrange [-3:3]; unset key
set title '1-rectified (flow matching): 40 paths from noise (circles) to data'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', for [k=1:40] dat index k using 1:2 with lines lw 1.5 lc k, \
     for [k=1:40] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'
set title '2-rectified (after reflow): 40 paths from noise (circles) to data'
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd', for [k=41:80] dat index k using 1:2 with lines lw 1.5 lc k, \
     for [k=41:80] dat index k every ::0::0 using 1:2 with points pt 6 ps 1 lc rgb 'black'
set title 'one Euler step (1 evaluation)'; set xrange [-2:2]; set yrange [-2:2]; set key bottom right
plot dat index 0 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data', dat index 81 using 1:2 with points pt 7 ps 0.25 lc rgb '#d7301f' title '1-rectified', \
     dat index 82 using 1:2 with points pt 7 ps 0.25 lc rgb '#2171b5' title '2-rectified'
unset multiplot
