using System.Diagnostics;
using Pdm.Mqtt;

namespace Pdm.LocalStack.Tests;

public sealed class MosquittoPasswordHashTests
{
    [Fact]
    public void Hash_has_mosquitto_2_format_and_verifies()
    {
        var hash = MosquittoPasswordHash.Create("s3cret");

        Assert.StartsWith("$7$101$", hash, StringComparison.Ordinal);
        var parts = hash.Split('$');
        Assert.Equal(12, Convert.FromBase64String(parts[3]).Length);
        Assert.Equal(64, Convert.FromBase64String(parts[4]).Length);
        Assert.True(MosquittoPasswordHash.Verify("s3cret", hash));
        Assert.False(MosquittoPasswordHash.Verify("S3cret", hash));
    }

    [Fact]
    public async Task Hash_written_by_mosquitto_passwd_verifies_with_the_same_algorithm()
    {
        var file = Path.Combine(Path.GetTempPath(), $"pdm-passwd-{Guid.NewGuid():N}");
        try
        {
            using (var process = Process.Start("/usr/bin/mosquitto_passwd", ["-c", "-b", file, "alice", "s3cret"]))
            {
                await process.WaitForExitAsync().WaitAsync(MqttTestExtensions.Timeout);
                Assert.Equal(0, process.ExitCode);
            }
            var hash = (await File.ReadAllTextAsync(file)).Trim()["alice:".Length..];

            Assert.True(MosquittoPasswordHash.Verify("s3cret", hash));
            Assert.False(MosquittoPasswordHash.Verify("wrong", hash));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
