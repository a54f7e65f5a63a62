using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Pdm.Dashboard.Tests;

/// <summary>
/// Everything that went wrong in a page: console errors, uncaught exceptions, requests that failed or were answered
/// 4xx/5xx. A test asserts none is left; one it provokes on purpose (a wrong key's 401) it declares as expected while
/// provoking it.
/// </summary>
public sealed class BrowserErrors
{
    private readonly ConcurrentQueue<string> _errors = new();
    private volatile string? _expected;

    public BrowserErrors(IPage page)
    {
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !IsExpected(message.Text))
            {
                _errors.Enqueue($"console error: {message.Text} ({message.Location})");
            }
        };
        page.PageError += (_, error) => _errors.Enqueue($"uncaught: {error}");
        page.RequestFailed += (_, request) => _errors.Enqueue($"request failed: {request.Method} {request.Url}: {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400 && !IsExpected($"{response.Status} {response.Url}"))
            {
                _errors.Enqueue($"HTTP {response.Status}: {response.Request.Method} {response.Url}");
            }
        };
    }

    /// <summary>While the returned scope lives, errors whose text holds <paramref name="marker"/> (e.g. "401") are expected.</summary>
    public IDisposable Expect(string marker)
    {
        _expected = marker;
        return new Scope(this);
    }

    public void AssertNone()
    {
        Assert.True(_errors.IsEmpty, "the page reported errors:\n" + string.Join("\n", _errors));
    }

    private bool IsExpected(string text) => _expected is { } marker && text.Contains(marker, StringComparison.Ordinal);

    private sealed class Scope(BrowserErrors owner) : IDisposable
    {
        public void Dispose() => owner._expected = null;
    }
}
