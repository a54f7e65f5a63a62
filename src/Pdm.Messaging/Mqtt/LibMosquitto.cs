using System.Runtime.InteropServices;

namespace Pdm.Messaging.Mqtt;

/// <summary>
/// The part of Debian's libmosquitto1 (2.0.x) that <see cref="MosquittoClient"/> uses. There is no unversioned
/// <c>libmosquitto.so</c> without the -dev package, so the soname is named explicitly.
/// </summary>
internal static unsafe partial class LibMosquitto
{
    private const string Lib = "libmosquitto.so.1";

    public const int ErrSuccess = 0;
    public const int ErrNoConn = 4;
    /// <summary>A system call failed; the reason is in errno (captured with SetLastError).</summary>
    public const int ErrErrno = 14;

    public const int OptProtocolVersion = 1;
    public const int OptTcpNoDelay = 11;
    public const int ProtocolV311 = 4;
    public const int SslVerifyPeer = 1;

    /// <summary>A SUBACK return code that means the broker refused the subscription.</summary>
    public const int SubackFailure = 0x80;

    [StructLayout(LayoutKind.Sequential)]
    public struct Message
    {
        public int Mid;
        public byte* Topic;
        public byte* Payload;
        public int PayloadLength;
        public int Qos;
        [MarshalAs(UnmanagedType.I1)] public bool Retain;
    }

    [LibraryImport(Lib, EntryPoint = "mosquitto_lib_init")]
    public static partial int LibInit();

    [LibraryImport(Lib, EntryPoint = "mosquitto_new", StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr New(string? id, [MarshalAs(UnmanagedType.I1)] bool cleanSession, IntPtr userData);

    [LibraryImport(Lib, EntryPoint = "mosquitto_destroy")]
    public static partial void Destroy(IntPtr mosq);

    [LibraryImport(Lib, EntryPoint = "mosquitto_threaded_set")]
    public static partial int ThreadedSet(IntPtr mosq, [MarshalAs(UnmanagedType.I1)] bool threaded);

    [LibraryImport(Lib, EntryPoint = "mosquitto_int_option")]
    public static partial int IntOption(IntPtr mosq, int option, int value);

    [LibraryImport(Lib, EntryPoint = "mosquitto_max_inflight_messages_set")]
    public static partial int MaxInflightMessagesSet(IntPtr mosq, uint maxInflight);

    [LibraryImport(Lib, EntryPoint = "mosquitto_username_pw_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UsernamePwSet(IntPtr mosq, string? username, string? password);

    [LibraryImport(Lib, EntryPoint = "mosquitto_tls_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TlsSet(IntPtr mosq, string? caFile, string? caPath, string? certFile, string? keyFile, IntPtr passwordCallback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_tls_opts_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TlsOptsSet(IntPtr mosq, int certReqs, string? tlsVersion, string? ciphers);

    [LibraryImport(Lib, EntryPoint = "mosquitto_connect_async", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int ConnectAsync(IntPtr mosq, string host, int port, int keepAlive);

    [LibraryImport(Lib, EntryPoint = "mosquitto_disconnect")]
    public static partial int Disconnect(IntPtr mosq);

    [LibraryImport(Lib, EntryPoint = "mosquitto_loop", SetLastError = true)]
    public static partial int Loop(IntPtr mosq, int timeoutMilliseconds, int maxPackets);

    [LibraryImport(Lib, EntryPoint = "mosquitto_publish", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Publish(IntPtr mosq, out int mid, string topic, int payloadLength, byte* payload, int qos, [MarshalAs(UnmanagedType.I1)] bool retain);

    [LibraryImport(Lib, EntryPoint = "mosquitto_subscribe", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Subscribe(IntPtr mosq, out int mid, string topicFilter, int qos);

    [LibraryImport(Lib, EntryPoint = "mosquitto_connect_with_flags_callback_set")]
    public static partial void ConnectWithFlagsCallbackSet(IntPtr mosq, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, int, void> callback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_disconnect_callback_set")]
    public static partial void DisconnectCallbackSet(IntPtr mosq, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, void> callback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_publish_callback_set")]
    public static partial void PublishCallbackSet(IntPtr mosq, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, void> callback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_subscribe_callback_set")]
    public static partial void SubscribeCallbackSet(IntPtr mosq, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int, int, int*, void> callback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_message_callback_set")]
    public static partial void MessageCallbackSet(IntPtr mosq, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, Message*, void> callback);

    [LibraryImport(Lib, EntryPoint = "mosquitto_strerror")]
    private static partial IntPtr StrError(int code);

    [LibraryImport(Lib, EntryPoint = "mosquitto_connack_string")]
    private static partial IntPtr ConnackStringNative(int code);

    public static string ErrorText(int code) => Marshal.PtrToStringUTF8(StrError(code)) ?? $"error {code}";

    public static string ConnackText(int code) => Marshal.PtrToStringUTF8(ConnackStringNative(code)) ?? $"connack {code}";
}
