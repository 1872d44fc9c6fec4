# ch3_learned_vs_true_score.gp: renders ch3_learned_vs_true_score.png from ch3_learned_vs_true_score.dat. Re-render with:  cd figures && gnuplot ch3_learned_vs_true_score.gp
if (!exists("outfile")) outfile = 'ch3_learned_vs_true_score.png'
set terminal pngcairo size 1500,500 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_learned_vs_true_score.dat'
set multiplot layout 1,3 title 'Denoising score matching (sigma = 0.3, 40000 points): learned vs true score of p_{σ}'
set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset key
set palette defined (0 'white', 1 '#c6dbef', 2 '#6baed6', 3 '#08519c'); set cbrange [-8:1]; unset colorbox
set title 'true score of p_{σ}'
plot dat index 0 using 1:2:3 with image, '' index 1 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb 'black'
set title 'learned s_W (DSM)'
plot dat index 0 using 1:2:3 with image, '' index 2 using 1:2:3:4 with vectors head size 0.06,20 filled lc rgb '#d7301f'
set title 'p_{σ}(x) |s_W - s|^2 (integral 0.040; E|s_W - s|^2 = 0.046 ± 0.003), 300 draws of p_{σ}' font ',10'; set colorbox; set cbrange [0:0.0191612]
set palette defined (0 'white', 1 '#fdae6b', 2 '#d94801', 3 '#7f2704')
plot dat index 3 using 1:2:3 with image, '' index 4 using 1:2 with points pt 7 ps 0.3 lc rgb 'black'
unset multiplot
