using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace Pdm.Storage;

/// <summary>Why a database write failed, which decides what ingest does with the batch.</summary>
public enum StorageFailure
{
    /// <summary>The database is away or busy (connection, timeout, shutdown, serialization, deadlock): retry, then park.</summary>
    Transient,

    /// <summary>The database refused the data itself (SQLSTATE class 22, 23, 54, text it cannot encode): retrying cannot help.</summary>
    Data,

    /// <summary>Anything else (a bug, a schema problem): retrying the same input fails the same way.</summary>
    Other,
}

public static class StorageErrors
{
    /// <summary>Classifies an exception thrown while reading or writing PostgreSQL.</summary>
    public static StorageFailure Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        switch (exception)
        {
            case PostgresException postgres:
                return ClassifySqlState(postgres.SqlState) ?? (postgres.IsTransient ? StorageFailure.Transient : StorageFailure.Other);
            case NpgsqlException { IsTransient: true }:
            case TimeoutException or SocketException or IOException:
                return StorageFailure.Transient;
            case EncoderFallbackException or DecoderFallbackException:
                // Npgsql could not encode a parameter as UTF-8 (a lone surrogate): the value, not the server.
                return StorageFailure.Data;
            case NpgsqlException { InnerException: { } inner }:
                return Classify(inner);
            default:
                return StorageFailure.Other;
        }
    }

    /// <summary>The error as a reason a tenant can read: the SQLSTATE and PostgreSQL's message when there is one.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is PostgresException postgres
            ? $"the database refused it: {postgres.MessageText} (SQLSTATE {postgres.SqlState})"
            : $"the database refused it: {exception.GetType().Name}: {exception.Message}";
    }

    private static StorageFailure? ClassifySqlState(string sqlState)
    {
        if (sqlState.Length != 5)
        {
            return null;
        }
        return sqlState[..2] switch
        {
            // 08 connection exception, 53 insufficient resources, 57P0x shutdown / cannot connect now,
            // 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 58 system (I/O) error.
            "08" or "53" or "58" => StorageFailure.Transient,
            "57" when sqlState is "57P01" or "57P02" or "57P03" or "57014" => StorageFailure.Transient,
            "40" when sqlState is "40001" or "40P01" => StorageFailure.Transient,
            "55" when sqlState is "55P03" or "55006" => StorageFailure.Transient,
            // 22 data exception, 23 integrity constraint violation, 54 program limit exceeded (row or value too big).
            "22" or "23" or "54" => StorageFailure.Data,
            _ => null,
        };
    }
}
