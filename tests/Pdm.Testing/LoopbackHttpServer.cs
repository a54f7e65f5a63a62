using System.IO.Compression;
using System.Net;
using System.Text;
using Pdm.LocalStack;

namespace Pdm.Testing;

/// <summary>
/// A remote service played on loopback by a test (IoT Hub's REST API, Application Insights' ingestion, the PDM API):
/// each request is handed to <c>answer</c>, which reads what it needs and writes the response; the response is closed
/// after it. Requests are served one at a time, in arrival order.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, Task> _answer;
    private readonly Task _serving;

    public LoopbackHttpServer(Func<HttpListenerContext, Task> answer)
    {
        _answer = answer;
        Endpoint = new Uri($"http://127.0.0.1:{FreePort.Pick()}/");
        _listener.Prefixes.Add(Endpoint.AbsoluteUri);
        _listener.Start();
        _serving = ServeAsync();
    }

    public Uri Endpoint { get; }

    /// <summary>The request's body as text, unzipped when it was sent with <c>Content-Encoding: gzip</c>.</summary>
    public static async Task<string> ReadBodyAsync(HttpListenerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = request.InputStream;
        if (string.Equals(request.Headers["Content-Encoding"], "gzip", StringComparison.OrdinalIgnoreCase))
        {
            body = new GZipStream(body, CompressionMode.Decompress);
        }
        using var reader = new StreamReader(body, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Writes a status and a JSON body (empty for none).</summary>
    public static async Task WriteJsonAsync(HttpListenerResponse response, int status, string body)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = status;
        response.ContentType = "application/json; charset=utf-8";
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(body));
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            try
            {
                await _answer(context);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        await _serving;
        _listener.Close();
    }
}
