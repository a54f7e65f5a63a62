using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Pdm.IotHub.Tests.IotEdge;

internal static class TestCertificates
{
    /// <summary>PEM of <paramref name="count"/> throwaway self-signed CA certificates, like an edge CA trust bundle.</summary>
    public static string CaBundlePem(int count)
    {
        var pem = new System.Text.StringBuilder();
        for (var i = 0; i < count; i++)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN=pdm test edge CA {i}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            pem.AppendLine(certificate.ExportCertificatePem());
        }
        return pem.ToString();
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
