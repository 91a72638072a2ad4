set terminal pngcairo size 1000,500 font 'sans,10'
set output 'docs/performance/broker_failure.png'
set title 'Click count through broker failures (20000 records/s offered; red: broker down, green: back up)'
set xlabel 'seconds'
set ylabel 'records processed per second (100 ms bins)'
set grid
set yrange [0:*]
set arrow from 3.007921, graph 0 to 3.007921, graph 1 nohead lc rgb '#b3261e' dt 2
set label 'broker 2 down' at 3.107921, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 8.000175, graph 0 to 8.000175, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 8.100175, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 12.006624, graph 0 to 12.006624, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 down (coordinator)' at 12.106624, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 15.000248, graph 0 to 15.000248, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 1 up' at 15.100248, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 17.006895, graph 0 to 17.006895, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 down (coordinator)' at 17.106895, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 20.002071, graph 0 to 20.002071, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 2 up' at 20.102071, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 22.011213, graph 0 to 22.011213, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 down (coordinator)' at 22.111213, graph 0.97 rotate by -90 font 'sans,8'
set arrow from 25.000258, graph 0 to 25.000258, graph 1 nohead lc rgb '#16794a' dt 2
set label 'broker 3 up' at 25.100258, graph 0.97 rotate by -90 font 'sans,8'
plot 'docs/performance/broker_failure.dat' using 1:2 with lines lw 1.5 notitle
