using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pdm.IotHub.IotEdge;

/// <summary>
/// The edge CA certificates edgeHub's TLS certificate chains to, fetched from the workload API and written as a PEM
/// file that <see cref="Mqtt.MqttOptions.CaFile"/> names: the MQTT client trusts only its certificates as roots, and
/// re-reads it before every connect, so a renewed bundle takes effect on the next reconnect.
/// </summary>
public static partial class EdgeTrustBundle
{
    public const string FileName = "iotedge-trust-bundle.pem";

    /// <summary>
    /// Fetches the bundle, checks it holds at least one certificate, and replaces <c>{directory}/iotedge-trust-bundle.pem</c>
    /// atomically (a reconnect reading the file never sees half of it). Returns the file's path.
    /// </summary>
    public static async Task<string> WriteAsync(WorkloadClient workload, string directory, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var pem = await workload.GetTrustBundleAsync(cancellationToken);
        var count = CountCertificates(pem);

        Directory.CreateDirectory(directory);
        var path = Path.GetFullPath(Path.Combine(directory, FileName));
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await File.WriteAllTextAsync(temporary, pem, cancellationToken);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        (logger ?? NullLogger.Instance).TrustBundleWritten(count, path);
        return path;
    }

    private static int CountCertificates(string pem)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new WorkloadException($"The workload API's trust bundle is not valid PEM: {ex.Message}", ex);
        }
        try
        {
            return certificates.Count > 0
                ? certificates.Count
                : throw new WorkloadException("The workload API's trust bundle holds no certificate.");
        }
        finally
        {
            foreach (var certificate in certificates)
            {
                certificate.Dispose();
            }
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 6502, Level = LogLevel.Information, Message = "Wrote the IoT Edge trust bundle ({Count} certificates) to {Path}")]
    public static partial void TrustBundleWritten(this ILogger logger, int count, string path);
}
