# ch3_ncsn_scores.gp: renders ch3_ncsn_scores.png from ch3_ncsn_scores.dat. Re-render with:  cd figures && gnuplot ch3_ncsn_scores.gp
if (!exists("outfile")) outfile = 'ch3_ncsn_scores.png'
set terminal pngcairo size 1500,520 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_ncsn_scores.dat'
set multiplot layout 1,3 title 'Noise-conditional score: learned σ s_{θ}(x, σ) (red) vs exact σ ∇ log p_{σ} (black), over log p_{σ}'
set size ratio -1; set xrange [-4:4]; set yrange [-4:4]; unset key; unset colorbox
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-12:1]
set title 'sigma = 6.00'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4 with vectors head size 0.06,20 lw 2 lc rgb 'black', '' index 2 using 1:2:3:4 with vectors head size 0.06,20 lc rgb '#d7301f'
set title 'sigma = 0.42'
plot dat index 3 using 1:2:3 with image, '' index 4 using 1:2:3:4 with vectors head size 0.06,20 lw 2 lc rgb 'black', '' index 5 using 1:2:3:4 with vectors head size 0.06,20 lc rgb '#d7301f'
set title 'sigma = 0.05'
plot dat index 6 using 1:2:3 with image, '' index 7 using 1:2:3:4 with vectors head size 0.06,20 lw 2 lc rgb 'black', '' index 8 using 1:2:3:4 with vectors head size 0.06,20 lc rgb '#d7301f'
unset multiplot
