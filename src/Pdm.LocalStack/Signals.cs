using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Pdm.LocalStack;

/// <summary>Unix signals for the servers this library starts: graceful stops and config reloads.</summary>
public static class Signals
{
    public const int Hangup = 1;
    public const int Terminate = 15;

    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    /// <summary>
    /// Whether the process exists and has not exited. A dead child stays a zombie until it is reaped, and the
    /// postmaster is not our child at all, so this reads the state from /proc rather than asking <see cref="Process"/>.
    /// </summary>
    public static bool IsRunning(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        // "pid (comm) S ...": the state follows the last ')' (the command name may itself hold parentheses).
        var close = stat.LastIndexOf(')');
        return close < 0 || close + 2 >= stat.Length || stat[close + 2] is not ('Z' or 'X' or 'x');
    }

    /// <summary>
    /// SIGTERM, so the server can save its state and close cleanly, then a hard kill when it has not exited
    /// within <paramref name="grace"/>.
    /// </summary>
    public static async Task TerminateAsync(Process process, TimeSpan grace, CancellationToken cancellationToken)
    {
        if (process.HasExited)
        {
            return;
        }
        Send(process.Id, Terminate);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    // DllImport rather than LibraryImport: the generated stub needs unsafe code, which this project does not enable.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
