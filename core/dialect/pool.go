package dialect

import (
	"time"

	"gorm.io/gorm"
)

func gormConfig(opts Options) *gorm.Config {
	if opts.GORM != nil {
		c := *opts.GORM
		return &c
	}
	return &gorm.Config{}
}

func setPool(db *gorm.DB, open, idle int, lifetime time.Duration) {
	sqlDB, err := db.DB()
	if err != nil {
		return
	}
	sqlDB.SetMaxOpenConns(open)
	sqlDB.SetMaxIdleConns(idle)
	sqlDB.SetConnMaxLifetime(lifetime)
}
