package render

import (
	"context"
	"os"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

func openInput(path string) analyze.Input {
	return analyze.Input{Name: path, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return rdb.NewReader(f, rdb.WithName(path)), f.Close, nil
	}}
}
