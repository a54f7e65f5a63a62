using System.Text;
using Pdm.LocalStack;
using Pdm.Webhooks;

namespace Pdm.LocalStack.Tests;

public sealed class WebhookReceiverTests : IAsyncLifetime
{
    private const string Body = """
        {"id":"evt_1","type":"alert.opened","timestamp":"2026-12-07T05:00:00Z","tenant":"t",
         "data":{"alert":{"subjectId":"EG_M003","ruleId":"vibration","severity":"HIGH","explanation":{"summary":"vibration_x 4.74 mm/s: ISO 10816 zone C"}}}}
        """;

    private readonly string _log = Path.Combine(Path.GetTempPath(), $"pdm-receiver-{Guid.NewGuid():N}.log");
    private readonly WebhookSecret _secret = WebhookSecret.Generate();
    private readonly HttpClient _client = new();
    private WebhookReceiver _receiver = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync(_log, CancellationToken.None);
        _receiver.UseSecret(_secret.Encoded);
    }

    public async Task DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _client.Dispose();
        File.Delete(_log);
    }

    private async Task<HttpResponseMessage> PostAsync(string id, WebhookSecret secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _receiver.Url) { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        WebhookSigner.Sign(id, DateTimeOffset.UtcNow, Body, [secret]).ApplyTo(request.Headers);
        return await _client.SendAsync(request, CancellationToken.None);
    }

    [Fact]
    public async Task Verified_events_are_written_once_per_webhook_id_and_bad_signatures_are_refused()
    {
        Assert.True((await PostAsync("evt_1", _secret)).IsSuccessStatusCode);
        Assert.True((await PostAsync("evt_1", _secret)).IsSuccessStatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await PostAsync("evt_2", WebhookSecret.Generate())).StatusCode);

        Assert.Equal((1, 1), (_receiver.Received, _receiver.Refused));
        var lines = await File.ReadAllLinesAsync(_log, CancellationToken.None);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"alert\.opened\s+HIGH\s+EG_M003 vibration: vibration_x 4\.74 mm/s: ISO 10816 zone C\s+\[evt_1\]", lines[0]);
        Assert.Contains("REFUSED evt_2", lines[1]);
        Assert.Contains("EG_M003", await _client.GetStringAsync(new Uri(_receiver.Url, "/"), CancellationToken.None));
    }
}
