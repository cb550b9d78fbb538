module github.com/rdbtool/rdbtool/testdata

go 1.23
