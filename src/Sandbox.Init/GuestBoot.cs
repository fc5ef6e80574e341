namespace Sandbox.Init;

/// <summary>Init's start as PID 1 of a micro-VM's guest kernel: a virtio-serial port to the host.</summary>
internal static class GuestBoot
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("sandbox-init: guest mode not implemented yet");
        return 125;
    }
}
