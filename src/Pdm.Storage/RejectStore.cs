using System.Buffers;
using System.Text.Json;
using Npgsql;
using Pdm.Telemetry;
using static Pdm.Storage.StoreSql;

namespace Pdm.Storage;

/// <summary>Messages ingest rejected, kept whole with their reasons.</summary>
public sealed class RejectStore(NpgsqlDataSource dataSource)
{
    private const string RejectColumns = "id, tenant_id, device_id, received_at, message_key, errors::text, payload, source, payload_blob";

    /// <summary>
    /// Stores rejected messages; a message key already stored is skipped, so replays are harmless. Rows without a
    /// tenant go through the platform function. Returns how many were newly stored. Text PostgreSQL refuses (NUL,
    /// lone surrogates) is escaped first (<see cref="PostgresText"/>), so a message's content cannot fail the write.
    /// </summary>
    public async Task<int> WriteRejectsAsync(IReadOnlyList<RejectedMessage> rejects, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rejects);
        if (rejects.Count == 0)
        {
            return 0;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = 0;
        foreach (var group in rejects.GroupBy(r => r.TenantId))
        {
            if (group.Key is { } tenantId)
            {
                await SetTenantAsync(connection, transaction, tenantId, cancellationToken);
            }
            foreach (var reject in group)
            {
                var values = new object?[]
                {
                    PostgresText.Escape(reject.DeviceId), reject.ReceivedAt.ToUniversalTime(), PostgresText.Escape(reject.MessageKey),
                    ErrorsToJson(reject.Errors), PostgresText.Escape(reject.Payload), PostgresText.Escape(reject.Source),
                    reject.PayloadBlob is null ? null : PostgresText.Escape(reject.PayloadBlob),
                };
                if (group.Key is { } tenant)
                {
                    await using var insert = Command(connection, transaction, """
                        INSERT INTO pdm.rejected_messages (tenant_id, device_id, received_at, message_key, errors, payload, source, payload_blob)
                        VALUES ($8, $1, $2, $3, $4::jsonb, $5, $6, $7)
                        ON CONFLICT (message_key) DO NOTHING
                        """, [.. values, tenant]);
                    stored += await insert.ExecuteNonQueryAsync(cancellationToken);
                }
                else
                {
                    await using var insert = Command(connection, transaction,
                        "SELECT pdm.write_unattributed_reject($1, $2, $3, $4::jsonb, $5, $6, $7)", values);
                    stored += (bool)(await insert.ExecuteScalarAsync(cancellationToken))! ? 1 : 0;
                }
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    public Task<IReadOnlyList<StoredReject>> ListRejectsAsync(Guid tenantId, DateTimeOffset? from, int limit,
        CancellationToken cancellationToken) =>
        ListRejectsAsync(tenantId, new PageRequest { From = from, Limit = limit }, cancellationToken);

    /// <summary>A page of the tenant's rejects, newest first (by received time, then id), received in [From, To).</summary>
    public async Task<IReadOnlyList<StoredReject>> ListRejectsAsync(Guid tenantId, PageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        return await dataSource.InTenantAsync(tenantId, async (connection, transaction) =>
        {
            await using var command = Command(connection, transaction, $"""
                SELECT {RejectColumns} FROM pdm.rejected_messages
                WHERE ($1::timestamptz IS NULL OR received_at >= $1) AND ($2::timestamptz IS NULL OR received_at < $2)
                  AND ($3::timestamptz IS NULL OR (received_at, id) < ($3, $4::bigint))
                ORDER BY received_at DESC, id DESC LIMIT $5
                """, page.From?.ToUniversalTime(), page.To?.ToUniversalTime(), page.AfterAt?.ToUniversalTime(), page.AfterId, page.Limit);
            return await ReadAllAsync(command, reader => new StoredReject(
                reader.GetInt64(0), NullableValue<Guid>(reader, 1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetString(4), ErrorsFromJson(reader.GetString(5)),
                reader.GetString(6), reader.GetString(7)) { PayloadBlob = NullableString(reader, 8) }, cancellationToken);
        }, cancellationToken);
    }

    private static string ErrorsToJson(IReadOnlyList<DecodeError> errors)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var error in errors)
            {
                writer.WriteStartObject();
                // jsonb refuses \u0000 as much as text refuses NUL.
                writer.WriteString("path", PostgresText.Escape(error.Path));
                writer.WriteString("reason", PostgresText.Escape(error.Reason));
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static List<DecodeError> ErrorsFromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(e => new DecodeError(
            e.GetProperty("path").GetString() ?? "", e.GetProperty("reason").GetString() ?? ""))];
    }
}
