using Pdm.Mqtt;

namespace Pdm.Testing;

/// <summary>Waiting helpers: every wait has a timeout, none is a fixed sleep.</summary>
public static class MqttTestExtensions
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static async Task<MqttMessage> NextAsync(this IMqttClient client, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        return await client.Messages.ReadAsync(cts.Token);
    }

    public static async Task<IMqttClient> ConnectedAsync(MqttOptions options)
    {
        var client = MqttNetClient.Create(options);
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(cts.Token);
        return client;
    }

    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting until {what}.");
            }
        }
    }
}
