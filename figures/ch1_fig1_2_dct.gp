# ch1_fig1_2_dct.gp: renders ch1_fig1_2_dct.png from ch1_fig1_2_dct.dat. Re-render with:  cd figures && gnuplot ch1_fig1_2_dct.gp
if (!exists("outfile")) outfile = 'ch1_fig1_2_dct.png'
set terminal pngcairo size 1400,360 enhanced font 'Sans,10'
set output outfile
dat = 'ch1_fig1_2_dct.dat'
set multiplot layout 1,7 title "The 8x8 block DCT as an encoder: x -> z (64 coefficients per block) -> decode from the k largest of 1024\nerr = |x_{hat} - x| / |x|, the relative L2 error of the decoded image"
set size ratio -1; unset key; unset tics; unset colorbox; set xrange [-0.5:31.5]; set yrange [-0.5:31.5]
set palette grey; set cbrange [0:1]
set title 'x'; plot dat index 0 using 1:2:3 with image
set title 'log_{10}|z|'; set palette defined (0 'white', 1 '#3182bd', 2 '#08306b'); set cbrange [-3:1]
set colorbox horizontal user origin 0.16, 0.1 size 0.11, 0.035; set cbtics 1 font ',8' scale 0.5
plot dat index 1 using 1:2:3 with image
unset colorbox; set palette grey; set cbrange [0:1]
set title 'k = 8 (err 0.46)'; plot dat index 2 using 1:2:3 with image
set title 'k = 16 (err 0.34)'; plot dat index 3 using 1:2:3 with image
set title 'k = 32 (err 0.25)'; plot dat index 4 using 1:2:3 with image
set title 'k = 64 (err 0.16)'; plot dat index 5 using 1:2:3 with image
set title 'k = 128 (err 0.09)'; plot dat index 6 using 1:2:3 with image
unset multiplot
