# ch3_score_field.gp: renders ch3_score_field.png from ch3_score_field.dat. Re-render with:  cd figures && gnuplot ch3_score_field.gp
if (!exists("outfile")) outfile = 'ch3_score_field.png'
set terminal pngcairo size 1100,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_score_field.dat'
set multiplot layout 1,2 title 'The score grad log p(x) (arrows, normalised) over log p(x) (colour)'
set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset key
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]; set cblabel 'log p'
set title 'Gaussian N(mu, 0.8^2 I): -(x - mu)/s^2, straight to the mean'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'
set title 'Mixture (weights 0.5/0.3/0.2): arrows split between the modes'
plot dat index 2 using 1:2:3 with image, '' index 3 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'
unset multiplot
