package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/galaxy/rtmanager/ports"
)

// wrapErr names the failed operation and translates what core decides on:
// no row → ports.ErrNotFound, a server that cannot be reached or did not answer
// in time → ports.ErrUnavailable (with the cause kept in the chain). Anything
// else — a constraint violation, a cancelled context — is passed on wrapped.
func wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("postgres: %s: %w", op, ports.ErrNotFound)
	case unavailable(err):
		return fmt.Errorf("postgres: %s: %w: %w", op, ports.ErrUnavailable, err)
	default:
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
}

// unavailable reports whether err says the server could not be used, as
// opposed to the server refusing the statement.
func unavailable(err error) bool {
	if errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.Timeout(err) ||
		// Nothing reached the server: the connection failed before sending.
		pgconn.SafeToRetry(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connectErr) || errors.As(err, &netErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08 is "connection exception"; the others are a server that
		// is shutting down, starting up or out of connection slots.
		switch pgErr.Code {
		case "53300", "57P01", "57P02", "57P03":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	return false
}

// caseVariantIndex keeps game ids unique ignoring letter case (migration 00002).
const caseVariantIndex = "runtime_records_game_id_lower_key"

// violates reports whether err is a unique violation of the named constraint.
func violates(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}
