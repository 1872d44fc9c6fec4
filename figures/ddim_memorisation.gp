# ddim_memorisation.gp: renders ddim_memorisation.png from ddim_memorisation.dat. Re-render with:  cd figures && gnuplot ddim_memorisation.gp
if (!exists("outfile")) outfile = 'ddim_memorisation.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'ddim_memorisation.dat'
set multiplot layout 1,3 title 'Memorisation: the ideal denoiser of 40 points only reproduces them (DDIM, 100 steps)'
set size ratio -1; set xrange [-1.3:1.3]; set yrange [-1.3:1.3]; set key bottom right font ',9'
set title 'training set (40 points) and the law'
plot dat index 3 using 1:2 with points pt 7 ps 0.2 lc rgb '#bdbdbd' title 'data law (draws)', dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points'
set title 'ideal denoiser (softmax mean): 97% of samples within 0.01 of a point'
plot dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points', dat index 1 using 1:2 with points pt 7 ps 0.4 lc rgb '#d7301f' title 'samples'
set title 'trained network: 9% within 0.01'
plot dat index 0 using 1:2 with points pt 6 ps 1.2 lw 2 lc rgb 'black' title 'training points', dat index 2 using 1:2 with points pt 7 ps 0.4 lc rgb '#2171b5' title 'samples'
unset multiplot
