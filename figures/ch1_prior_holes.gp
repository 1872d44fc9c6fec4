# ch1_prior_holes.gp: renders ch1_prior_holes.png from ch1_prior_holes.dat. Re-render with:  cd figures && gnuplot ch1_prior_holes.gp
if (!exists("outfile")) outfile = 'ch1_prior_holes.png'
set terminal pngcairo size 900,760 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_prior_holes.dat'
set title "Where the faint samples come from: prior draws z from N(0, I) (circles, colour log_{10} q(z)/p(z))\nover the encoded test set (grey). Red circles sit in holes of the aggregate posterior q(z); dashed: |z| = 2." font ',10'
set size ratio -1; set xrange [-3.5:3.5]; set yrange [-3.5:3.5]; set xlabel 'z_1'; set ylabel 'z_2'; set key bottom right
set palette defined (-3 '#b2182b', -1 '#ef8a62', 0 '#f7f7f7', 1 '#67a9cf', 2 '#2166ac'); set cbrange [-3:2]
set cblabel 'log_{10} q(z)/p(z)'; set object 1 circle at 0,0 size 2 fs empty border lc rgb '#999999' dt 2
plot dat index 0 using 1:2 with points pt 7 ps 0.25 lc rgb '#cccccc' title 'test codes mu_φ(x)', \
     dat index 1 using 1:2:3 with points pt 7 ps 1.3 lc palette title 'prior draws', \
     dat index 1 using 1:2 with points pt 6 ps 1.3 lc rgb 'black' notitle
