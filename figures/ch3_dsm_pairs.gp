# ch3_dsm_pairs.gp: renders ch3_dsm_pairs.png from ch3_dsm_pairs.dat. Re-render with:  cd figures && gnuplot ch3_dsm_pairs.gp
if (!exists("outfile")) outfile = 'ch3_dsm_pairs.png'
set terminal pngcairo size 700,650 enhanced font 'Sans,10'
set output outfile
dat = 'ch3_dsm_pairs.dat'
set title "DSM pairs, σ = 0.35: clean x' (black), noisy x = x' + σ z (red), DSM's target direction -z/σ (grey)\nand Tweedie's E[x' | x] - x = σ^2 ∇ log p_{σ}(x) (blue)"
set size ratio -1; set xrange [-2.5:2.5]; set yrange [-2.5:2.5]; unset colorbox; set key bottom right
set palette defined (0 'white', 1 '#f0f0f0', 2 '#bdbdbd'); set cbrange [-8:1]
plot dat index 0 using 1:2:3 with image notitle, \
     '' index 1 using 3:4:5:6 with vectors head size 0.05,20 lc rgb '#969696' title "x -> x'", \
     '' index 1 using 3:4:7:8 with vectors head size 0.05,20 filled lw 2 lc rgb '#2171b5' title "x -> E[x'|x]", \
     '' index 1 using 1:2 with points pt 7 ps 0.8 lc rgb 'black' title "clean x'", \
     '' index 1 using 3:4 with points pt 7 ps 0.8 lc rgb '#d7301f' title 'noisy x'
