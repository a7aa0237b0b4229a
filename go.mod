module github.com/elbow-lb/elbow

go 1.26.8
