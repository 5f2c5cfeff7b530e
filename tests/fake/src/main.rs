//! `triton-fake <command> [args...]`: one fake Triton/SmartOS command of a simulated datacenter
//! (see the library docs). `DIR/bin/<command>` wrappers call it.

fn main() {
    // Behave like the real tools when the reader of our output goes away (`| head`): die
    // quietly of SIGPIPE instead of reporting write errors.
    // SAFETY: restoring the default disposition of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprintln!(
            "usage: triton-fake <command> [args...]\ncommands: {}",
            triton_fake::COMMANDS.join(" ")
        );
        std::process::exit(2);
    };
    let args: Vec<String> = args.collect();
    std::process::exit(triton_fake::run(&command, &args));
}
